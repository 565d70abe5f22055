-- Several MTA connections at once against one inspect: run.sh starts 8
-- copies of this script together (client = 1 to 8), each sending a whole
-- message with macros at every stage, and pausing between steps so that
-- the sessions overlap.  Every value names its client, so that
-- check-parallel.py can tell that each event block is whole, that every
-- session has every stage in order and that nothing of one session shows
-- up in another.  Which client gets which session number varies, hence no
-- golden file.
-- clients: 8
-- golden: none
-- check: check-parallel.py --clients 8

dofile(lib)

local function pause()
	mt.sleep(0.005)
end

run(function()
	local me = "client-" .. client
	local conn = connect()

	mt.macro(conn, SMFIC_CONNECT, "j", "mx.example", "_", me .. ".example")
	step.conninfo(conn, me .. ".example", "192.0.2." .. client)
	pause()
	mt.macro(conn, SMFIC_HELO, "{tls_version}", me)
	step.helo(conn, me .. ".example")
	pause()
	mt.macro(conn, SMFIC_MAIL, "{mail_addr}", me .. "@example.org")
	step.mailfrom(conn, "<" .. me .. "@example.org>", "SIZE=" .. client)
	pause()
	for r = 1, 2 do
		mt.macro(conn, SMFIC_RCPT, "{rcpt_addr}",
		    me .. "-rcpt" .. r .. "@example.net")
		step.rcptto(conn, "<" .. me .. "-rcpt" .. r .. "@example.net>")
		pause()
	end
	mt.macro(conn, SMFIC_DATA, "i", me)
	step.data(conn)
	for h = 1, 5 do
		step.header(conn, "X-Header-" .. h, me .. " header " .. h)
		pause()
	end
	mt.macro(conn, SMFIC_EOH, "{bodytype}", me)
	step.eoh(conn)
	local lines = {}
	for l = 1, 40 do
		lines[l] = me .. " body line " .. l .. "\r\n"
	end
	step.bodystring(conn, table.concat(lines))
	pause()
	mt.macro(conn, SMFIC_BODYEOB, "{msg_id}", me)
	step.eom(conn)
	mt.disconnect(conn)
end)
