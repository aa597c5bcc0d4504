import { log } from 'directus:api';

export default ({ filter, action }) => {
  filter('items.create', (payload) => {
    log('Creating Item!');
    return payload;
  });

  action('items.create', () => {
    log('Item created!');
  });
};
