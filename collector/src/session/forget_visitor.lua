-- Forgets one visitor at their request, in one round trip: their session hashes (today's and yesterday's
-- visitor hash) and their presence in the site's, page's and group's sets.
--
-- KEYS[1]  session hash of today's visitor hash      ff:sess:{site}:<visitor>
-- KEYS[2]  session hash of yesterday's visitor hash
-- ARGV[1]  presence key prefix, all visitors   ff:live:{site}
-- ARGV[2]  presence key prefix, identified     ff:livei:{site}
-- ARGV[3..] the visitor's possible presence members (anonymous and identified, both hashes)
--
-- Presence keys share the `{site}` hash tag with KEYS[1], as in touch.lua. Returns the session ids held.
local ids = {}
for i = 1, #KEYS do
  local s = redis.call('HMGET', KEYS[i], 'id', 'member', 'page', 'group')
  if s[1] then
    ids[#ids + 1] = s[1]
    if s[2] then
      local scopes = {''}
      if s[3] and s[3] ~= '' then scopes[#scopes + 1] = ':page:' .. s[3] end
      if s[4] and s[4] ~= '' then scopes[#scopes + 1] = ':group:' .. s[4] end
      for _, scope in ipairs(scopes) do
        redis.call('ZREM', ARGV[1] .. scope, s[2])
        redis.call('ZREM', ARGV[2] .. scope, s[2])
      end
    end
    redis.call('UNLINK', KEYS[i])
  end
end
-- A member whose hash already expired still leaves the site's sets.
for i = 3, #ARGV do
  redis.call('ZREM', ARGV[1], ARGV[i])
  redis.call('ZREM', ARGV[2], ARGV[i])
end
return ids
