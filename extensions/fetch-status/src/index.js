import { log, request } from 'directus:api';

export default (router) => {
  // GET /fetch-status/repos/directus/directus -> a few fields of the repository
  router.get('/repos/:owner/:repo', async (req) => {
    try {
      const response = await request(`https://api.github.com/repos/${req.params.owner}/${req.params.repo}`, {
        method: 'GET',
        headers: { Accept: 'application/vnd.github+json' },
      });
      const { full_name, stargazers_count } = response.data ?? {};
      return { status: response.status, body: { full_name, stargazers_count } };
    } catch (error) {
      log(`request failed: ${error.message}`);
      return { status: 502, body: { error: error.message } };
    }
  });
};
