// Settings › People, for a site's owner and admins: the owner and members (role select, remove), inviting by
// email with a role (an existing account joins at once; a new email gets a one-time link to copy), pending
// invitations (revoke), and — for the owner — transferring the site. Also the viewer's note with "Leave this
// site". Emails are user-supplied: text nodes only, like everything the dashboard shows.
import * as api from '../api.js';
import { clear, copyField, errorBox, h, isAbort } from '../dom.js';
import { formatDateTime } from '../format.js';

// Short, so a role select fits beside an email on a phone; the panel's hint says what each role may do.
const ROLES = [
  ['viewer', 'Viewer'],
  ['admin', 'Admin'],
];

function roleSelect(id, selected, label) {
  return h(
    'select',
    { id, class: 'select', 'aria-label': label },
    ROLES.map(([value, text]) => h('option', { value, selected: value === selected }, text)),
  );
}

/** After leaving a site: the site list again, and the first remaining site. */
async function left(ctx) {
  await ctx.reloadSites();
  location.assign('/');
}

export function peoplePanel(ctx) {
  const { site, signal } = ctx;
  const me = ctx.user && ctx.user.id;
  const list = h('div', {}, h('p', { class: 'loading-box' }, 'Loading…'));
  const outcome = h('div', { 'aria-live': 'polite' });
  const show = (...children) => clear(outcome, ...children);

  const memberItem = (member) => {
    const email = String(member.email ?? '');
    const isMe = me != null && member.user_id === me;
    const main = h('span', { class: 'item-main' }, email, isMe ? h('span', { class: 'muted' }, ' (you)') : null);
    if (member.role === 'owner') return h('li', { class: 'item' }, main, h('span', { class: 'badge accent' }, 'Owner'));
    const select = roleSelect(`role-${member.user_id}`, member.role, `Role of ${email}`);
    select.addEventListener('change', async () => {
      select.disabled = true;
      try {
        await api.setMemberRole(site.id, member.user_id, select.value);
        show(h('p', { class: 'ok-text' }, `${email} is now ${select.value === 'admin' ? 'an admin' : 'a viewer'}.`));
        if (isMe) await ctx.reloadSites();
      } catch (error) {
        select.value = member.role;
        show(errorBox(error));
      } finally {
        select.disabled = false;
      }
    });
    const remove = h(
      'button',
      {
        type: 'button',
        class: 'button small danger',
        'aria-label': isMe ? 'Leave this site' : `Remove ${email}`,
        on: {
          click: async (event) => {
            const question = isMe ? `Leave ${site.domain}? You lose access to it.` : `Remove ${email} from ${site.domain}?`;
            if (!confirm(question)) return;
            event.target.disabled = true;
            try {
              await api.removeMember(site.id, member.user_id);
              if (isMe) return left(ctx);
              load();
            } catch (error) {
              event.target.disabled = false;
              show(errorBox(error));
            }
          },
        },
      },
      isMe ? 'Leave' : 'Remove',
    );
    return h('li', { class: 'item' }, main, select, remove);
  };

  const invitationItem = (invitation) =>
    h(
      'li',
      { class: 'item' },
      h('span', { class: 'item-main' }, String(invitation.email ?? ''), ' ', h('span', { class: 'badge' }, `invited · ${invitation.role}`)),
      invitation.expires_at ? h('span', { class: 'muted small' }, `until ${formatDateTime(invitation.expires_at)}`) : null,
      h(
        'button',
        {
          type: 'button',
          class: 'button small danger',
          'aria-label': `Revoke the invitation of ${invitation.email}`,
          on: {
            click: async (event) => {
              if (!confirm('Revoke this invitation? Its link stops working.')) return;
              event.target.disabled = true;
              try {
                await api.revokeInvitation(site.id, invitation.id);
                load();
              } catch (error) {
                event.target.disabled = false;
                show(errorBox(error));
              }
            },
          },
        },
        'Revoke',
      ),
    );

  const load = async () => {
    try {
      const { members, invitations } = await api.members(site.id, signal);
      clear(
        list,
        h('ul', { class: 'item-list', 'aria-label': 'Members' }, members.map(memberItem)),
        invitations.length
          ? [h('h3', { class: 'panel-subtitle' }, 'Pending invitations'), h('ul', { class: 'item-list', 'aria-label': 'Pending invitations' }, invitations.map(invitationItem))]
          : null,
      );
    } catch (error) {
      if (!isAbort(error)) clear(list, errorBox(error, load));
    }
  };

  const email = h('input', { id: 'invite-email', type: 'email', required: true, autocomplete: 'off', spellcheck: false, inputmode: 'email' });
  const role = roleSelect('invite-role', 'viewer', null);
  const submit = h('button', { type: 'submit', class: 'button' }, 'Invite');
  const form = h(
    'form',
    {
      class: 'form inline-form',
      'aria-label': 'Invite someone',
      on: {
        submit: async (event) => {
          event.preventDefault();
          submit.disabled = true;
          try {
            const answer = (await api.invite(site.id, { email: email.value.trim(), role: role.value })) || {};
            if (answer.url) {
              show(
                h('p', {}, `Send this link to ${answer.invitation ? answer.invitation.email : email.value.trim()}. It works once, for 7 days, and is shown only now.`),
                copyField(api.absoluteUrl(answer.url), 'Invitation link'),
              );
            } else {
              show(h('p', { class: 'ok-text' }, `${answer.member ? answer.member.email : email.value.trim()} has an account and is now a member.`));
            }
            email.value = '';
            load();
          } catch (error) {
            show(errorBox(error));
          } finally {
            submit.disabled = false;
          }
        },
      },
    },
    h('div', { class: 'field' }, h('label', { for: 'invite-email' }, 'Email'), email),
    h('div', { class: 'field' }, h('label', { for: 'invite-role' }, 'Role'), role),
    submit,
  );
  load();
  return h(
    'section',
    { class: 'panel', 'aria-label': 'People' },
    h('h2', { class: 'panel-title' }, 'People'),
    h('p', { class: 'hint' }, 'Viewers read every report. Admins also change settings, share links, keys and people; only the owner deletes or transfers the site.'),
    list,
    form,
    outcome,
    ctx.may.ownsSite(site.id) ? transferForm(ctx, show, load) : null,
  );
}

function transferForm(ctx, show, reload) {
  const { site } = ctx;
  const email = h('input', { id: 'transfer-email', type: 'email', required: true, autocomplete: 'off', spellcheck: false, inputmode: 'email' });
  const submit = h('button', { type: 'submit', class: 'button danger' }, 'Transfer');
  const form = h(
    'form',
    {
      class: 'form inline-form',
      on: {
        submit: async (event) => {
          event.preventDefault();
          const to = email.value.trim();
          if (!confirm(`Give ${site.domain} to ${to}? You stay on as an admin.`)) return;
          submit.disabled = true;
          try {
            await api.transferSite(site.id, to);
            show(h('p', { class: 'ok-text' }, `${to} owns ${site.domain} now; you are an admin.`));
            await ctx.reloadSites();
            reload();
          } catch (error) {
            show(errorBox(error));
          } finally {
            submit.disabled = false;
          }
        },
      },
    },
    h('div', { class: 'field' }, h('label', { for: 'transfer-email' }, 'New owner’s email'), email, h('p', { class: 'hint' }, 'They need an account here: invite them first.')),
    submit,
  );
  return h('details', { class: 'alt-auth' }, h('summary', {}, 'Transfer this site'), form);
}

/** What a viewer sees instead of the site's settings: what they can do, and leaving. */
export function viewerNote(ctx) {
  const { site } = ctx;
  const message = h('div', { role: 'status' });
  const leave = h(
    'button',
    {
      type: 'button',
      class: 'button danger',
      on: {
        click: async () => {
          if (!confirm(`Leave ${site.domain}? You lose access to it.`)) return;
          leave.disabled = true;
          try {
            await api.removeMember(site.id, ctx.user.id);
            await left(ctx);
          } catch (error) {
            leave.disabled = false;
            clear(message, errorBox(error));
          }
        },
      },
    },
    'Leave this site',
  );
  return h(
    'section',
    { class: 'panel', 'aria-label': 'Your access' },
    h('h2', { class: 'panel-title' }, 'Your access'),
    h('p', {}, `You are a viewer of ${site.domain}: you read every report; its owner and admins change its settings and people.`),
    ctx.user && ctx.user.id != null ? leave : null,
    message,
  );
}
