// The portfolio's own behaviour: a chat widget, a job-description analysis, a demo sign-in. Tracking is the
// tracker's job; this file only calls footfall() where the page knows something a click does not say.
const $ = (selector) => document.querySelector(selector);

// Chat widget: opening it is tagged in the HTML (data-footfall="chat"); each message sent is reported here.
let messages = 0;
$('#open-chat')?.addEventListener('click', () => { $('#chat').hidden = false; $('#open-chat').hidden = true; });
$('#chat form')?.addEventListener('submit', (event) => {
  event.preventDefault();
  const input = $('#chat input');
  if (!input.value.trim()) return;
  messages += 1;
  for (const [who, text] of [['You', input.value], ['Bot', 'Thanks! I will get back to you soon.']]) {
    const li = document.createElement('li');
    li.textContent = `${who}: ${text}`;
    $('#chat ol').append(li);
  }
  input.value = '';
  footfall('track', 'chat', { messages, action: 'message' });
});

// Job-description analysis: the form is tagged (data-footfall="job_analysis"); the match score is added here.
$('#job-form')?.addEventListener('submit', (event) => {
  event.preventDefault();
  const text = $('#job-form textarea').value.toLowerCase();
  const skills = ['rust', 'webassembly', 'postgresql', 'redis', 'analytics', 'privacy'];
  const found = skills.filter((skill) => text.includes(skill));
  $('#job-result').textContent = `Matched ${found.length} of ${skills.length} skills: ${found.join(', ') || 'none'}`;
  footfall('track', 'job_analysis_result', { matched: found.length });
});

$('#sign-in')?.addEventListener('click', () => {
  footfall('identify', 'demo-user-42', { remember: true });
  $('#sign-in').textContent = 'Signed in';
});
