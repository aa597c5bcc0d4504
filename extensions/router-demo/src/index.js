import { log } from 'directus:api';

export default (router) => {
  router.get('/', () => ({ status: 200, body: 'Hello World' }));

  router.get('/items/:id', async (req) => ({
    status: 200,
    body: { id: req.params.id, query: req.query },
  }));

  router.post('/items', async (req) => {
    log(`creating ${JSON.stringify(req.body)}`);
    return { status: 201, body: { created: req.body } };
  });

  router.put('/items/:id', (req) => ({ status: 200, body: { replaced: req.params.id, with: req.body } }));

  router.patch('/items/:id', (req) => ({ status: 200, body: { updated: req.params.id, with: req.body } }));

  router.delete('/items/:id', () => ({ status: 204 }));
};
