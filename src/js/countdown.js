// The idle warning's countdown, for the UI bindings: `set(msLeft)` each time the whole seconds
// left change (so that `Math.ceil(msLeft / 1000)` counts down one by one), stopping at 0;
// `set(null)` once stopped. A display timer only: the engine decides when the logout comes.
export function idleCountdown(set) {
  let deadline = 0;
  let timer = null;
  const tick = () => {
    const left = Math.max(0, deadline - Date.now());
    timer = left > 0 ? setTimeout(tick, left % 1000 || 1000) : null;
    set(left);
  };
  return {
    start(msLeft) {
      if (timer !== null) clearTimeout(timer);
      deadline = Date.now() + Math.max(0, Number(msLeft) || 0);
      tick();
    },
    stop() {
      if (timer !== null) clearTimeout(timer);
      timer = null;
      set(null);
    },
  };
}
