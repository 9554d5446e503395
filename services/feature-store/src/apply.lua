-- Applies one partition's batch of tile updates and moves the partition's offset, atomically.
--
-- KEYS[1]   the offsets hash; KEYS[2..] the tile keys, in the order of the groups in ARGV.
-- ARGV[1]   the partition (a field of the offsets hash)
-- ARGV[2]   the offset the caller believes is next, or "" when it believes none is stored
-- ARGV[3]   the offset after this batch
-- ARGV[4..] per tile key: expire_at ("" for none), op count, then per op: kind, field, a, b, c
--           kinds: i (HINCRBY a), min, max, t (keep the smaller / larger / later a),
--                  last (a value, b time, c tie-break; companions <field>_t and <field>_tb)
--
-- Returns 1 when applied, or {0, stored} when the stored offset is not the expected one (another
-- consumer or an earlier attempt got there first): nothing is written then.
-- Float arguments are stored as given: Lua would keep only 14 digits if it formatted them.

local stored = redis.call('HGET', KEYS[1], ARGV[1])
if (stored or '') ~= ARGV[2] then
  return {0, stored or ''}
end

local function better(kind, new, old)
  if not old then return true end
  if kind == 'min' then return tonumber(new) < tonumber(old) end
  return tonumber(new) > tonumber(old)
end

local a = 4
for k = 2, #KEYS do
  local key = KEYS[k]
  local expire_at = ARGV[a]
  local ops = tonumber(ARGV[a + 1])
  a = a + 2
  for _ = 1, ops do
    local kind, field, x = ARGV[a], ARGV[a + 1], ARGV[a + 2]
    if kind == 'i' then
      redis.call('HINCRBY', key, field, x)
    elseif kind == 'last' then
      local time, tiebreak = ARGV[a + 3], ARGV[a + 4]
      local old = redis.call('HMGET', key, field .. '_t', field .. '_tb', field)
      local newer = not old[1]
        or tonumber(time) > tonumber(old[1])
        or (tonumber(time) == tonumber(old[1]) and (tonumber(tiebreak) > tonumber(old[2])
          or (tonumber(tiebreak) == tonumber(old[2]) and tonumber(x) > tonumber(old[3]))))
      if newer then
        redis.call('HSET', key, field, x, field .. '_t', time, field .. '_tb', tiebreak)
      end
    elseif better(kind, x, redis.call('HGET', key, field)) then
      redis.call('HSET', key, field, x)
    end
    a = a + 5
  end
  if expire_at ~= '' then
    local current = redis.call('PEXPIRETIME', key)
    if current < tonumber(expire_at) then
      redis.call('PEXPIREAT', key, expire_at)
    end
  end
end

redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
