-- One event's effect on its visitor's session and on presence, atomically, in one round trip.
--
-- KEYS[1]  session hash of today's visitor hash      ff:sess:{site}:<visitor>
-- KEYS[2]  session hash of yesterday's visitor hash  (a session open across UTC midnight moves over)
-- ARGV[1]  now (ms)          ARGV[2]  session TTL (ms)     ARGV[3]  id for a new session
-- ARGV[4]  presence member   ARGV[5]  '1' if identified    ARGV[6]  page path ('' = unchanged)
-- ARGV[7]  group: '' = unchanged, '=' = none, '=NAME' = NAME   ARGV[8]  presence window (ms)
-- ARGV[9]  presence key prefix, all visitors   ff:live:{site}
-- ARGV[10] presence key prefix, identified     ff:livei:{site}
-- ARGV[11] index of live pages                 ff:livepages:{site}  (page names scored by last seen)
-- ARGV[12] index of live groups                ff:livegroups:{site}
-- ARGV[13] start (ms) for a new session: now, or the start of a visit the collector still knows and this
--          Redis lost (it restarted empty); such a visit continues under its id and start, and is not new.
-- ARGV[14] visit timeout (ms): inactivity that ends a visit, identified or not
-- ARGV[15] user hash this event identifies ('' = none)
--
-- The hash lives for ARGV[2] after the latest event, the longest TTL given: 30 min, or for an identified visitor
-- 4 h (30 days remembered). It holds the current visit and the visitor's identity; a visit ends after ARGV[14]
-- of inactivity, and the next one opens in the same hash, keeping the identity and the presence member.
--
-- Returns {session id, start (ms), 1 if this event began the visit else 0, user hash or ''}.
--
-- Presence keys for pages and groups are built here from the prefixes. They share the `{site}` hash tag with
-- KEYS[1], so on Redis Cluster they live in the same slot and the script stays atomic.
-- This runs once per event: every Redis command in it counts, so unchanged fields are not rewritten.
-- The two indexes only let the real-time read find which page and group sets to count (live.lua).
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[8])
local ttl = tonumber(ARGV[2])
local is_new = 0
local idle = tonumber(ARGV[14])
local fields = {'id', 'start', 'page', 'group', 'member', 'last', 'ttl', 'user'}
local s = redis.call('HMGET', KEYS[1], unpack(fields))
if not s[1] then
  if KEYS[2] ~= KEYS[1] and redis.call('EXISTS', KEYS[2]) == 1 then
    redis.call('RENAME', KEYS[2], KEYS[1])
    s = redis.call('HMGET', KEYS[1], unpack(fields))
  end
end
-- The key's own expiry runs on the wall clock; events can carry other times (server-side senders backfill
-- with `time`), so a session is also over once this event comes later than its timeout after the last one.
local kept = tonumber(s[7] or '') or ttl
local last = tonumber(s[6] or '')
if s[1] and last and now - last > kept then
  s = {false}
end
local user = s[8]
if user == '' then user = false end
if not s[1] then
  s = {ARGV[3], ARGV[13], false, false, false, false, false, false}
  is_new = 1
  kept = ttl
  user = false
elseif last and now - last > idle then
  -- The visit is over, the identity is not: the next visit opens here and stays the user's.
  s[1] = ARGV[3]
  s[2] = ARGV[13]
  is_new = 1
end
local stored_user = user
if ARGV[15] ~= '' then user = ARGV[15] end
-- An identified visitor keeps the longer TTL (4 h, or 30 days remembered) until it runs out.
if ttl < kept then ttl = kept end
-- An empty stored page or group means none.
if s[3] == '' then s[3] = false end
if s[4] == '' then s[4] = false end
local member = ARGV[4]
local identified = ARGV[5] == '1'
-- Identified once, identified for the rest of the session: later page views carry no user id.
if not identified and s[5] and string.sub(s[5], 1, 1) == 'i' then
  identified = true
  member = 'i' .. string.sub(member, 2)
end
local page = ARGV[6]
if page == '' then page = s[3] end
local group = ARGV[7]
if group == '' then
  group = s[4]
elseif group == '=' then
  group = false
else
  group = string.sub(group, 2)
end

local function scopes(p, g)
  local t = {''}
  if p then t[#t + 1] = ':page:' .. p end
  if g then t[#t + 1] = ':group:' .. g end
  return t
end

-- Moved page or group, or became identified: leave the sets the visitor was counted in before.
local moved = s[5] and (s[5] ~= member or s[3] ~= page or s[4] ~= group)
if moved then
  for _, scope in ipairs(scopes(s[3], s[4])) do
    redis.call('ZREM', ARGV[9] .. scope, s[5])
    redis.call('ZREM', ARGV[10] .. scope, s[5])
  end
end

-- Reads count by score range, so stale members never show; trimming them is only for memory and can be
-- done on a fraction of the writes.
local trim = now % 8 == 0
local function mark(key, name)
  redis.call('ZADD', key, now, name)
  redis.call('PEXPIRE', key, window * 2)
  if trim then redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window) end
end
for _, scope in ipairs(scopes(page, group)) do
  mark(ARGV[9] .. scope, member)
  if identified then mark(ARGV[10] .. scope, member) end
end
if page then mark(ARGV[11], page) end
if group then mark(ARGV[12], group) end

if is_new == 1 then
  redis.call('HSET', KEYS[1], 'id', s[1], 'start', s[2], 'member', member, 'page', page or '', 'group', group or '',
    'last', now, 'ttl', ttl, 'user', user or '')
else
  if user and user ~= stored_user then redis.call('HSET', KEYS[1], 'user', user) end
  if moved or not s[5] then
    redis.call('HSET', KEYS[1], 'member', member, 'page', page or '', 'group', group or '')
  end
  if not last or now > last then redis.call('HSET', KEYS[1], 'last', now) end
  if ttl ~= tonumber(s[7] or '') then redis.call('HSET', KEYS[1], 'ttl', ttl) end
end
redis.call('PEXPIRE', KEYS[1], ttl)
local began = 0
if is_new == 1 and tonumber(ARGV[13]) >= now then began = 1 end
return {s[1], s[2], began, user or ''}
