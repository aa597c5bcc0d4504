export default {
  id: 'conformance',
  handler: (options, { data }) => {
    if (options.fail) throw new Error(`operation rejected: ${options.reason}`);
    return { ok: true, value: options.value, keys: Object.keys(data).length };
  },
};
