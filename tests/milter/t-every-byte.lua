-- Every byte from 1 to 255 in each string the MTA can send: a macro
-- value, the client's and helo names, MAIL's and RCPT's addresses and
-- ESMTP arguments, a header value, an unknown command; and every byte
-- from 0 to 255 in the body.  The report escapes them all; a recording
-- (tests/milter/record.sh) must replay them byte for byte.

dofile(lib)

run(function()
	local t = {}
	for b = 1, 255 do
		t[#t + 1] = string.char(b)
	end
	local bytes = table.concat(t)
	local body = scratch_file("body.bin", "\0" .. bytes .. "\r\n")

	local conn = connect()
	mt.macro(conn, SMFIC_CONNECT, "j", "mx.example", "{x_bytes}", bytes)
	step.conninfo(conn, "client" .. bytes, "192.0.2.1")
	step.helo(conn, bytes)
	mt.macro(conn, SMFIC_MAIL, "{mail_addr}", bytes)
	step.mailfrom(conn, "<" .. bytes .. ">", "X-ARG=" .. bytes)
	step.rcptto(conn, "<rcpt@example.net>", "X-ARG=" .. bytes)
	step.data(conn)
	step.header(conn, "X-Bytes", bytes)
	step.eoh(conn)
	step.bodyfile(conn, body)
	step.eom(conn)
	step.unknown(conn, "XBYTES " .. bytes)
	mt.disconnect(conn)
end)
