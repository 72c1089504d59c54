// Settings › Your account (changing one's password) and, for the instance's administrator, Accounts (a
// one-time password reset link per account: no email is sent, the administrator hands the link over). Also the
// pages a one-time link opens: `#/invite/TOKEN` (set a password, or give one's own, and join the site) and
// `#/reset/TOKEN` (set a new password).
import * as api from '../api.js';
import { clear, copyField, errorBox, h, isAbort } from '../dom.js';
import { formatDateTime } from '../format.js';

const MIN_PASSWORD = 10;

function passwordInput(id, autocomplete) {
  return h('input', { id, type: 'password', required: true, autocomplete, minLength: autocomplete === 'new-password' ? MIN_PASSWORD : undefined });
}

export function accountPanel() {
  const current = passwordInput('account-current', 'current-password');
  const next = passwordInput('account-new', 'new-password');
  const message = h('div', { 'aria-live': 'polite' });
  const submit = h('button', { type: 'submit', class: 'button' }, 'Change password');
  const form = h(
    'form',
    {
      class: 'form',
      on: {
        submit: async (event) => {
          event.preventDefault();
          submit.disabled = true;
          clear(message);
          try {
            await api.changePassword(current.value, next.value);
            current.value = '';
            next.value = '';
            clear(message, h('p', { class: 'ok-text' }, 'Password changed. Your other sign-ins have ended.'));
          } catch (error) {
            clear(message, errorBox(error));
          } finally {
            submit.disabled = false;
          }
        },
      },
    },
    h('div', { class: 'field' }, h('label', { for: 'account-current' }, 'Current password'), current),
    h('div', { class: 'field' }, h('label', { for: 'account-new' }, 'New password'), next, h('p', { class: 'hint' }, `At least ${MIN_PASSWORD} characters.`)),
    message,
    submit,
  );
  return h('section', { class: 'panel', 'aria-label': 'Your account' }, h('h2', { class: 'panel-title' }, 'Your account'), form);
}

/** The instance's accounts, each with a button that makes a one-time reset link (administrator only). */
export function accountsPanel(ctx) {
  const list = h('div', {}, h('p', { class: 'loading-box' }, 'Loading…'));
  const made = h('div', { 'aria-live': 'polite' });
  const item = (user) => {
    const email = String(user.email ?? '');
    const button = h(
      'button',
      {
        type: 'button',
        class: 'button small',
        'aria-label': `Make a password reset link for ${email}`,
        on: {
          click: async () => {
            button.disabled = true;
            try {
              const link = await api.resetLink(user.id);
              clear(
                made,
                h('p', {}, `Give this link to ${email}. It sets a new password once, until ${formatDateTime(link.expires_at)}, and is shown only now.`),
                copyField(api.absoluteUrl(link.url), 'Password reset link'),
              );
            } catch (error) {
              clear(made, errorBox(error));
            } finally {
              button.disabled = false;
            }
          },
        },
      },
      'Reset link',
    );
    return h(
      'li',
      { class: 'item' },
      h('span', { class: 'item-main' }, email, user.is_admin ? [' ', h('span', { class: 'badge accent' }, 'administrator')] : null),
      user.created_at ? h('span', { class: 'muted small' }, `since ${formatDateTime(user.created_at)}`) : null,
      button,
    );
  };
  api.users(ctx.signal).then(
    (users) => clear(list, h('ul', { class: 'item-list', 'aria-label': 'Accounts' }, users.map(item))),
    (error) => {
      if (!isAbort(error)) clear(list, errorBox(error));
    },
  );
  return h(
    'section',
    { class: 'panel', 'aria-label': 'Accounts' },
    h('h2', { class: 'panel-title' }, 'Accounts'),
    h('p', { class: 'hint' }, 'Someone who lost their password gets a one-time link from you; no email is sent.'),
    list,
    made,
  );
}

function card(...children) {
  return h('div', { class: 'auth-card panel' }, ...children);
}

/** `#/invite/TOKEN`: what the invitation is for, and joining. `signedInAs`: the email of this browser's sign-in. */
export async function renderInvite(root, { token, signedInAs, onJoined }) {
  let invitation;
  try {
    invitation = await api.invitation(token);
  } catch (error) {
    clear(
      root,
      card(
        h('h1', { class: 'view-title' }, 'This invitation cannot be used'),
        errorBox(error.code === 'unknown_invitation' || error.status === 404 ? 'It was used already, revoked or has expired. Ask for a new one.' : error),
        h('a', { href: '/' }, 'Go to the dashboard'),
      ),
    );
    return;
  }
  const site = invitation.site || {};
  const domain = String(site.domain || site.id || '');
  const email = String(invitation.email ?? '');
  const same = signedInAs && signedInAs === email;
  const password = same ? null : passwordInput('invite-password', invitation.account_exists ? 'current-password' : 'new-password');
  const message = h('div', { role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'button primary wide' }, invitation.account_exists || same ? 'Join' : 'Create account and join');
  const form = h(
    'form',
    {
      class: 'form',
      on: {
        submit: async (event) => {
          event.preventDefault();
          submit.disabled = true;
          clear(message);
          try {
            const joined = await api.acceptInvitation(token, password ? password.value : undefined);
            onJoined(joined && joined.site ? String(joined.site) : site.id);
          } catch (error) {
            clear(message, errorBox(error));
            submit.disabled = false;
            if (password) password.focus();
          }
        },
      },
    },
    h('h1', { class: 'view-title' }, `Join ${domain}`),
    h('p', { class: 'lead' }, `You are invited as ${invitation.role === 'admin' ? 'an admin' : 'a viewer'} of ${domain}.`),
    h('div', { class: 'field' }, h('span', { class: 'label' }, 'Email'), h('p', { class: 'mono' }, email)),
    password
      ? h(
          'div',
          { class: 'field' },
          h('label', { for: 'invite-password' }, invitation.account_exists ? 'Your password' : 'Choose a password'),
          password,
          h('p', { class: 'hint' }, invitation.account_exists ? 'This email has an account here: join with its password.' : `At least ${MIN_PASSWORD} characters.`),
        )
      : null,
    message,
    submit,
  );
  clear(root, card(form));
  (password || submit).focus();
}

/** `#/reset/TOKEN`: a new password, then the sign-in form. */
export function renderReset(root, { token, onDone }) {
  const password = passwordInput('reset-password', 'new-password');
  const message = h('div', { role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'button primary wide' }, 'Set password');
  const form = h(
    'form',
    {
      class: 'form',
      on: {
        submit: async (event) => {
          event.preventDefault();
          submit.disabled = true;
          clear(message);
          try {
            const answer = await api.redeemReset(token, password.value);
            onDone(answer && answer.email ? String(answer.email) : null);
          } catch (error) {
            const gone = error.code === 'unknown_link';
            clear(message, errorBox(gone ? 'This link was used already or has expired. Ask the administrator for a new one.' : error));
            submit.disabled = gone;
            password.focus();
          }
        },
      },
    },
    h('h1', { class: 'view-title' }, 'Choose a new password'),
    h('p', { class: 'lead' }, 'Setting it signs you out everywhere; then sign in with the new password.'),
    h('div', { class: 'field' }, h('label', { for: 'reset-password' }, 'New password'), password, h('p', { class: 'hint' }, `At least ${MIN_PASSWORD} characters.`)),
    message,
    submit,
  );
  clear(root, card(form));
  password.focus();
}
