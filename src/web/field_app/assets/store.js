// The phone's copy of the team's work, in IndexedDB: every write is one
// transaction, so minutes, their photos and their outbox entries land
// together or not at all (a reload, a crash or a dead battery loses nothing
// that was saved).

const DB_NAME = 'kiemtra';
const STORES = ['kv', 'assignments', 'establishments', 'minutes', 'blobs', 'outbox'];
let dbp = null;

/** Opens (and on first use creates) the database. */
export function open() {
  if (dbp) return dbp;
  dbp = new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => {
      const db = req.result;
      db.createObjectStore('kv');
      db.createObjectStore('assignments', { keyPath: 'id' });
      db.createObjectStore('establishments', { keyPath: 'id' });
      db.createObjectStore('minutes', { keyPath: 'id' });
      db.createObjectStore('blobs', { keyPath: 'sha256' });
      db.createObjectStore('outbox', { keyPath: 'seq', autoIncrement: true });
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
  return dbp;
}

const done = tx => new Promise((resolve, reject) => {
  tx.oncomplete = () => resolve();
  tx.onerror = () => reject(tx.error);
  tx.onabort = () => reject(tx.error || new Error('transaction aborted'));
});
const result = req => new Promise((resolve, reject) => {
  req.onsuccess = () => resolve(req.result);
  req.onerror = () => reject(req.error);
});

/**
 * Runs `fn(stores)` in one read-write transaction over `names` and waits
 * for it to commit; `fn` must only queue requests (no awaiting other work).
 */
export async function write(names, fn) {
  const db = await open();
  const tx = db.transaction(names, 'readwrite');
  const s = {};
  for (const n of names) s[n] = tx.objectStore(n);
  let out;
  try { out = fn(s); } catch (e) { tx.abort(); throw e; }
  await done(tx);
  return out;
}

/** One value by key. */
export async function get(store, key) {
  const db = await open();
  return result(db.transaction(store).objectStore(store).get(key));
}

/** Every value of a store. */
export async function all(store) {
  const db = await open();
  return result(db.transaction(store).objectStore(store).getAll());
}

/** How many values a store holds. */
export async function count(store) {
  const db = await open();
  return result(db.transaction(store).objectStore(store).count());
}

/** A key-value setting. */
export const kv = {
  get: key => get('kv', key),
  set: (key, value) => write(['kv'], s => s.kv.put(value, key)),
};

/** Deletes everything (sign-out): the next user starts from nothing. */
export async function wipe() {
  await write(STORES, s => { for (const n of STORES) s[n].clear(); });
}
