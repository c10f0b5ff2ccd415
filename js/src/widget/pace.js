// When the widget's charts draw. With 50 metrics streaming, drawing every chart on every
// update kept the page's main thread busy 45% of the time: charts off screen now draw when
// they come into view, and new data alone redraws at a pace that keeps drawing near
// `share` of the time (each pass waits 1/share - 1 times what the last one took).

/** Which elements are on screen (within `margin`); `onSeen()` when one comes into view.
 * Without IntersectionObserver every element counts as on screen. */
export function createVisibility(onSeen, margin = '100px') {
  const on = new Set();
  const io = typeof IntersectionObserver === 'function'
    ? new IntersectionObserver((entries) => {
      let more = false;
      for (const e of entries) {
        if (e.isIntersecting) {
          on.add(e.target);
          more = true;
        } else {
          on.delete(e.target);
        }
      }
      if (more) onSeen();
    }, { rootMargin: margin })
    : null;
  return {
    observe(node) { if (io) io.observe(node); },
    forget(node) {
      if (io) io.unobserve(node);
      on.delete(node);
    },
    has(node) { return !io || on.has(node); },
    disconnect() {
      if (io) io.disconnect();
      on.clear();
    },
  };
}

/** Paces redraws caused by new data alone. `ready(urgent)`: may a pass run now? When not,
 * `later()` is called once a little after the pass would be due (the next update usually
 * comes first and draws then; the timer is for the last one). `ran(ms)`: a pass took ms. */
export function createPacer(share, later, lateMs = 400, now = () => performance.now()) {
  let at = 0;
  let timer = 0;
  return {
    ready(urgent, pending) {
      const t = now();
      if (urgent || t >= at) {
        if (timer) clearTimeout(timer);
        timer = 0;
        return true;
      }
      if (pending && !timer) {
        timer = setTimeout(() => { timer = 0; later(); }, at - t + lateMs);
      }
      return false;
    },
    ran(ms) { at = now() + ms * (1 / share - 1); },
    stop() {
      if (timer) clearTimeout(timer);
      timer = 0;
    },
  };
}
