export default ({ filter }) => {
  filter('items.create', (payload) => ({ ...payload, touched: true }));
  filter('items.update', () => {
    throw new Error('rejected by the conformance hook');
  });
};
