import { log, request } from 'directus:api';

export default {
  id: 'conformance-js',
  handler: (router) => {
    router.get('/echo/:id', (req) => ({ status: 200, body: { params: req.params, query: req.query } }));
    router.post('/echo/:id', (req) => ({ status: 201, body: { params: req.params, query: req.query, body: req.body } }));
    router.get('/text', () => ({ status: 200, body: 'plain text' }));
    router.get('/log', () => {
      log('conformance');
      return { status: 200, body: { logged: true } };
    });
    router.get('/denied', async () => {
      try {
        await request('https://example.com/');
        return { status: 200, body: { denied: false } };
      } catch (error) {
        return { status: 403, body: { error: error.message } };
      }
    });
    router.get('/loop', () => {
      for (;;) {}
    });
    router.get('/bomb', () => {
      const keep = [];
      for (;;) keep.push(new Uint8Array(1 << 20).fill(1));
    });
  },
};
