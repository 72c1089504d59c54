// A client-side router: links change the URL with history.pushState and the view is redrawn without a page
// load. Footfall sees each route as a page view; community pages set a page group for real-time presence.
const base = new URL('.', document.currentScript?.src ?? location.href).pathname;
const views = {
  '': ['Meetups', 'Find your local tech meetup.'],
  about: ['About', 'Run by volunteers since 2019.'],
  'community/montreal': ['Montréal', 'Next meetup: Rust & coffee, Thursday.'],
  'community/paris': ['Paris', 'Next meetup: WebAssembly night, Tuesday.'],
};

function render() {
  const route = location.pathname.startsWith(base) ? location.pathname.slice(base.length) : '';
  const [title, body] = views[route] ?? ['Not found', 'No such page.'];
  document.title = `Meetups — ${title}`;
  document.querySelector('#title').textContent = title;
  document.querySelector('#body').textContent = body;
  document.querySelector('meta[name="footfall:group"]').content = route.startsWith('community/') ? route.replace('/', ':') : '';
}

document.addEventListener('click', (event) => {
  const link = event.target.closest('a[data-route]');
  if (!link) return;
  event.preventDefault();
  history.pushState({}, '', base + link.dataset.route);
  render();
});
addEventListener('popstate', render);
render();
