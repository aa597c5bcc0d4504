import { log } from 'directus:api';

export default {
  id: 'custom',
  handler: ({ text }) => {
    log(text);
    return { logged: text };
  },
};
