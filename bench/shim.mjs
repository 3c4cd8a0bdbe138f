const store = new WeakMap();
const R = Reflect;
if (!R.getMetadata) {
  const own = (t, k) => store.get(t)?.get(k);
  R.defineMetadata = (k, v, t) => { let m = store.get(t); if (!m) store.set(t, (m = new Map())); m.set(k, v); };
  R.getOwnMetadata = (k, t) => own(t, k);
  R.getMetadata = (k, t) => { for (let o = t; o != null; o = Object.getPrototypeOf(o)) { const m = store.get(o); if (m?.has(k)) return m.get(k); } return undefined; };
}
