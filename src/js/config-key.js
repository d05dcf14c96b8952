// One key for equal configurations, whatever the order of their members: createOidc reuses
// its instance per key, and the React binding keys its effects by it.

/** A string that is the same for equal configurations, whatever the key order. */
export function configKey(value) {
  if (Array.isArray(value)) return `[${value.map(configKey).join(",")}]`;
  if (value && typeof value === "object") {
    return `{${Object.keys(value)
      .sort()
      .filter((k) => value[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${configKey(value[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(value) ?? "undefined";
}
