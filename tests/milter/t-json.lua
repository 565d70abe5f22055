-- --format json for a full session: one object per event with the
-- stage's own keys; strings escaped for JSON, with each byte that is not
-- UTF-8 as \udcXX so that s.encode("utf-8", "surrogateescape") gives the
-- bytes back; a rejected recipient with "rejected": true and its
-- "rejection" (status and text, null for one not sent), the others false
-- and null; an empty macro value as "".  check-json.py parses every line,
-- checks keys and types, and decodes the body back to the file sent.
-- inspect-args: --format json
-- check: check-json.py --body body.bin

dofile(lib)

run(function()
	local bytes = {}
	for b = 0, 255 do
		bytes[#bytes + 1] = string.char(b)
	end
	local body = scratch_file("body.bin", "Text line\r\nNUL\0byte\r\n" ..
	    "caf\u{e9} \u{202e} caf\xe9\r\n" .. table.concat(bytes) .. "\r\n")

	local conn = connect()
	mt.macro(conn, SMFIC_CONNECT, "j", "mx.example", "{daemon_addr}", "")
	step.conninfo(conn, "[2001:db8::25]", "2001:db8::25")
	mt.macro(conn, SMFIC_HELO, "{tls_version}", "TLSv1.3")
	step.helo(conn, "client.example")
	mt.macro(conn, SMFIC_MAIL, "{mail_addr}", "sender@example.org")
	step.mailfrom(conn, "<sender@example.org>", "SIZE=1000",
	    "BODY=8BITMIME")
	mt.macro(conn, SMFIC_RCPT, "{rcpt_mailer}", "local")
	step.rcptto(conn, "<rcpt@example.net>", "NOTIFY=NEVER")
	mt.macro(conn, SMFIC_RCPT, "{rcpt_mailer}", "error",
	    "{rcpt_host}", "5.1.1", "{rcpt_addr}", "User unknown")
	step.rcptto(conn, "<nobody@example.net>")
	mt.macro(conn, SMFIC_RCPT, "{rcpt_mailer}", "error",
	    "{rcpt_host}", "4.7.1")
	step.rcptto(conn, "<later@example.net>")
	mt.macro(conn, SMFIC_DATA, "i", "4ABC123")
	step.data(conn)
	step.header(conn, "Subject", "  \"quoted\" \\ caf\u{e9}")
	step.header(conn, "X-Folded", "one\n\ttwo\r\n")
	step.header(conn, "X-Bytes", "\27[1m\127 \xff \u{85} \u{2066}")
	mt.macro(conn, SMFIC_EOH, "{bodytype}", "8BITMIME")
	step.eoh(conn)
	step.bodyfile(conn, body)
	mt.macro(conn, SMFIC_BODYEOB, "{msg_id}", "<id@example.org>")
	step.eom(conn)

	step.mailfrom(conn, "<second@example.org>")
	assert(mt.abort(conn) == nil)
	step.unknown(conn, "XYZZY \"x\"")
	mt.disconnect(conn)
end)
