// The field app's service worker: it caches the app shell (the exact,
// content-hashed files of this release) and serves it offline. It never
// caches the API: its answers belong to one signed-in user, and the app keeps
// what it needs in IndexedDB.
const VERSION = '{{version}}';
const FILES = {{files}};
const CACHE = 'kiemtra-app-' + VERSION;

self.addEventListener('install', event => {
  event.waitUntil(caches.open(CACHE).then(c => c.addAll(FILES)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', event => {
  event.waitUntil(caches.keys()
    .then(keys => Promise.all(keys.filter(k => k.startsWith('kiemtra-app-') && k !== CACHE).map(k => caches.delete(k))))
    .then(() => self.clients.claim()));
});

// A page that loaded while this worker was activating asks to be claimed
// (its activation's claim can miss a page that was not ready yet).
self.addEventListener('message', event => {
  if (event.data === 'claim') event.waitUntil(self.clients.claim());
});

self.addEventListener('fetch', event => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== 'GET' || url.origin !== self.location.origin || url.pathname.startsWith('/api/')) return;
  if (req.mode === 'navigate' && url.pathname.startsWith('/app')) {
    event.respondWith(caches.open(CACHE).then(c => c.match('/app/')).then(r => r || fetch(req)));
    return;
  }
  if (FILES.includes(url.pathname)) {
    event.respondWith(caches.open(CACHE).then(c => c.match(url.pathname)).then(r => r || fetch(req)));
  }
});
