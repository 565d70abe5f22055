-- lib.lua -- helpers shared by the t-*.lua cases.
--
-- run.sh starts miltertest with these globals (miltertest -D):
--   socket  the spec inspect listens on
--   dir     a scratch directory of the case's own
--   lib     this file, for dofile(lib)
--   client  the client's number, from 1 (in cases run by several clients)

-- Runs a case's body.  miltertest exits 1 on an error without saying
-- why, so say it here, with a traceback, before exiting 1.
function run(body)
	local ok, err = xpcall(body, debug.traceback)
	if not ok then
		io.stderr:write(tostring(err), "\n")
		os.exit(1)
	end
end

-- Connects to inspect.  run.sh has already seen it listen; the retries
-- are a margin, not a wait.
function connect()
	local conn = mt.connect(socket, 20, 0.1)
	if conn == nil then
		error("cannot connect to " .. socket)
	end
	return conn
end

-- miltertest reads its third argument as the steps and the fourth as the
-- actions, whatever its manual says.  Version 6 is libmilter's.
function negotiate(conn, steps, actions)
	local err = mt.negotiate(conn, 6, steps, actions)
	if err ~= nil then
		error("negotiate: " .. err)
	end
end

-- step.NAME(conn, ...) runs mt.NAME(conn, ...) and fails unless inspect
-- answered "continue": it must let every stage of every mail through.
-- A stage negotiated as getting no reply (SMFIP_NR_*, which inspect asks
-- for on unix sockets) must get none, which miltertest checks itself.
-- Use the steps in SMTP order: miltertest fills in a skipped one with
-- dummy data, and that dummy HELO or MAIL would clear the macros sent
-- for the step after it.
local noreply = {
	conninfo = SMFIP_NR_CONN, helo = SMFIP_NR_HELO,
	mailfrom = SMFIP_NR_MAIL, rcptto = SMFIP_NR_RCPT,
	data = SMFIP_NR_DATA, header = SMFIP_NR_HDR, eoh = SMFIP_NR_EOH,
	bodystring = SMFIP_NR_BODY, bodyfile = SMFIP_NR_BODY,
	unknown = SMFIP_NR_UNKN,
}
step = {}
for _, name in ipairs({ "conninfo", "helo", "mailfrom", "rcptto", "data",
    "header", "eoh", "bodystring", "bodyfile", "eom", "unknown" }) do
	step[name] = function(conn, ...)
		local err = mt[name](conn, ...)
		if err ~= nil then
			error(name .. ": " .. err, 2)
		end
		if noreply[name] ~= nil and mt.test_option(conn, noreply[name]) then
			return
		end
		local reply = mt.getreply(conn)
		if reply ~= SMFIR_CONTINUE then
			error(string.format("%s: reply '%s', expected continue",
			    name, string.char(reply)), 2)
		end
	end
end

-- Macro sets for the stages miltertest has no SMFIC_* constant for.
SMFIC_DATA = string.byte("T")
SMFIC_EOH = string.byte("N")
SMFIC_BODYEOB = string.byte("E")

-- Writes bytes to a file in the case's directory and returns its path, for
-- mt.bodyfile: mt.bodystring stops at the first NUL.
function scratch_file(name, bytes)
	local path = dir .. "/" .. name
	local f = assert(io.open(path, "wb"))
	assert(f:write(bytes))
	assert(f:close())
	return path
end

-- Forwarding cases (forward.sh): asks the runner to do ACTION (start,
-- kill or stop the milter behind inspect) and waits, at most 30 s, until
-- it is done.
function ask(action)
	local req = dir .. "/" .. action .. ".req"
	local done = dir .. "/" .. action .. ".done"
	assert(io.open(req, "w")):close()
	for _ = 1, 600 do
		local f = io.open(done, "r")
		if f ~= nil then
			f:close()
			os.remove(done)
			return
		end
		mt.sleep(0.05)
	end
	error("the runner did not " .. action .. " within 30 s", 2)
end

-- Runs mt.NAME(conn, ...) and fails unless the answer is want, within
-- the seconds miltertest waits (mt.set_timeout).
function expect(want, name, conn, ...)
	local err = mt[name](conn, ...)
	if err ~= nil then
		error(name .. ": " .. err, 2)
	end
	local got = mt.getreply(conn)
	if got ~= want then
		error(string.format("%s: answer %q, expected %q", name,
		    string.char(got), string.char(want)), 2)
	end
end

-- Connects and negotiates miltertest's defaults.
function session()
	local conn = connect()
	negotiate(conn, nil, nil)
	return conn
end

-- The envelope every forwarding case sends: connect, helo, one sender,
-- one recipient, each answered continue.
function envelope(conn)
	step.conninfo(conn, "client.example", "192.0.2.1")
	step.helo(conn, "client.example")
	step.mailfrom(conn, "<sender@example.org>")
	step.rcptto(conn, "<rcpt@example.net>")
end

-- The rest of a message after envelope(): data, the headers given as
-- { NAME, VALUE } pairs, a one-line body and eom, each answered continue.
function message(conn, headers)
	step.data(conn)
	for _, h in ipairs(headers or {}) do
		step.header(conn, h[1], h[2])
	end
	step.eoh(conn)
	step.bodystring(conn, "body\r\n")
	step.eom(conn)
end
