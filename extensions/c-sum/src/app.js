export default {
  id: 'c-sum',
  name: 'Sum',
  icon: 'add',
  description: 'Adds the numbers of its `numbers` option',
  overview: ({ numbers }) => [{ label: 'Numbers', text: String(numbers) }],
  options: [{ field: 'numbers', name: 'Numbers', type: 'json' }],
};
