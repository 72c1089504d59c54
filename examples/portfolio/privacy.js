// "What does this site record about me?": the visitor's own view from Footfall
// (GET /api/v1/visitors/session/current), with "Forget this visit" (DELETE on the same URL).
// Everything shown comes from the network, so it is written as text (textContent), never as HTML.
(() => {
  // The collector and site id are the tracker's own: its script tag says both.
  const tag = document.querySelector('script[data-site]');
  const endpoint = new URL('/api/v1/visitors/session/current', tag.src);
  endpoint.searchParams.set('site', tag.dataset.site);
  const $ = (id) => document.getElementById(id);
  const status = $('own-visit-status');
  const forget = $('forget-visit');

  const item = (list, text) => {
    const li = document.createElement('li');
    li.textContent = text;
    list.append(li);
  };
  const fill = (list, texts) => {
    list.replaceChildren();
    for (const text of texts) item(list, text);
  };
  const when = (iso) => new Date(iso).toLocaleString();

  function render(answer) {
    fill($('own-visit-stored'), answer.stored);
    fill($('own-visit-never'), answer.never_stored);
    $('own-visit-retention').textContent =
      `Raw events are kept ${answer.retention_days} days.` +
      (answer.honours_dnt ? ' This site honours Do Not Track and Global Privacy Control.' : '') +
      (answer.recording ? '' : ' Your browser asks not to be tracked, so nothing new is recorded.');
    const visit = answer.visit;
    $('own-visit').hidden = !visit;
    forget.hidden = !visit;
    if (!visit) {
      status.textContent = 'Nothing is stored about a visit from you today (events of the last second or so may still be on their way).';
      return;
    }
    status.textContent = `Your visit began ${when(visit.started_at)}; last seen ${when(visit.last_seen)}.`;
    const facts = $('own-visit-facts');
    facts.replaceChildren();
    const rows = [
      ['Source', visit.source ?? 'none (direct)'], ['Channel', visit.channel], ['Country', visit.country],
      ['Region', visit.region], ['City', visit.city], ['Browser', visit.browser], ['Operating system', visit.os],
      ['Device', visit.device], ['Signed in', visit.identified ? 'yes' : 'no'],
      ['Engagement score', `${visit.engagement_score} / 100`], ['Audience', visit.audience],
    ];
    for (const [name, value] of rows) {
      const dt = document.createElement('dt');
      dt.textContent = name;
      const dd = document.createElement('dd');
      dd.textContent = value ?? 'unknown';
      facts.append(dt, dd);
    }
    fill($('own-visit-pages'), visit.pages.map((p) =>
      `${p.path} at ${when(p.at)}: ${Math.round(p.engaged_ms / 1000)} s engaged` + (p.scroll == null ? '' : `, scrolled ${p.scroll} %`)));
    fill($('own-visit-interactions'), visit.interactions.length
      ? visit.interactions.map((i) => `${i.name} at ${when(i.at)}`) : ['none']);
    // "none" is not a first item: no number in front of it.
    $('own-visit-interactions').style.listStyle = visit.interactions.length ? '' : 'none';
  }

  async function load() {
    const response = await fetch(endpoint, { cache: 'no-store' });
    if (response.status === 404) {
      status.textContent = 'This site has not enabled the visitor view.';
      return;
    }
    if (!response.ok) throw new Error(`the analytics server answered ${response.status}`);
    render(await response.json());
  }

  forget.addEventListener('click', async () => {
    forget.disabled = true;
    try {
      const response = await fetch(endpoint, { method: 'DELETE', cache: 'no-store' });
      if (!response.ok) throw new Error(`the analytics server answered ${response.status}`);
      const { forgotten } = await response.json();
      $('own-visit').hidden = true;
      forget.hidden = true;
      status.textContent = `Forgotten: ${forgotten.events} recorded events of your visit were erased.`;
    } catch (error) {
      status.textContent = `Could not forget the visit: ${error.message}`;
    } finally {
      forget.disabled = false;
    }
  });

  load().catch((error) => { status.textContent = `Could not read what is stored: ${error.message}`; });
})();
