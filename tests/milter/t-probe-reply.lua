-- Probing: chosen stages get chosen answers, and the report says so.
-- A recipient whose address holds "bad@" (in any case) is rejected with
-- the reply text given, another goes through; a sender holding
-- "tempfail@" is tempfailed; body chunks are skipped; a header named
-- X-Drop discards the message; an unknown command is tempfailed with a
-- text of two lines (smfi_setmlreply); a client at 192.0.2.66 is
-- rejected at connect; HELO accept.example is accepted.  Every other stage is plain continue, and only
-- the answered ones show a "reply" line.
-- inspect-arg: --reply=envrcpt/bad@=550 5.7.1 probe rejects bad
-- inspect-arg: --reply=envfrom/tempfail@=tempfail
-- inspect-arg: --reply=body=skip
-- inspect-arg: --reply=header/x-drop=discard
-- inspect-arg: --reply=connect/192.0.2.66=reject
-- inspect-arg: --reply=helo/accept.example=accept
-- inspect-arg: --reply=unknown=451 4.3.0 first line\nsecond line
-- stderr: inspect: PROBING: inspect answers and changes mail as asked: --reply "envrcpt/bad@=550 5.7.1 probe rejects bad" --reply "envfrom/tempfail@=tempfail" --reply "body=skip" --reply "header/x-drop=discard" --reply "connect/192.0.2.66=reject" --reply "helo/accept.example=accept" --reply "unknown=451 4.3.0 first line\\nsecond line"

dofile(lib)

-- Connects, negotiates miltertest's defaults and says hello.
local function hello(helo)
	local conn = session()
	expect(SMFIR_CONTINUE, "conninfo", conn, "client.example",
	    "192.0.2.1")
	expect(helo == nil and SMFIR_CONTINUE or SMFIR_ACCEPT, "helo", conn,
	    helo or "client.example")
	return conn
end

run(function()
	local conn = hello()
	assert(mt.test_option(conn, SMFIP_SKIP))
	expect(SMFIR_CONTINUE, "mailfrom", conn, "<sender@example.org>")
	expect(SMFIR_CONTINUE, "rcptto", conn, "<good@example.net>")
	expect(SMFIR_REPLYCODE, "rcptto", conn, "<Bad@example.net>")
	expect(SMFIR_TEMPFAIL, "mailfrom", conn, "<TempFail@example.org>")
	mt.disconnect(conn)

	conn = hello()
	expect(SMFIR_CONTINUE, "mailfrom", conn, "<sender@example.org>")
	expect(SMFIR_CONTINUE, "rcptto", conn, "<good@example.net>")
	expect(SMFIR_CONTINUE, "header", conn, "Subject", "probe")
	expect(SMFIR_DISCARD, "header", conn, "X-Drop", "yes")
	mt.disconnect(conn)

	conn = hello()
	expect(SMFIR_CONTINUE, "mailfrom", conn, "<sender@example.org>")
	expect(SMFIR_CONTINUE, "rcptto", conn, "<good@example.net>")
	expect(SMFIR_CONTINUE, "eoh", conn)
	expect(SMFIR_SKIP, "bodystring", conn, "skipped\r\n")
	expect(SMFIR_CONTINUE, "eom", conn)
	expect(SMFIR_REPLYCODE, "unknown", conn, "XYZZY")
	mt.disconnect(conn)

	conn = session()
	expect(SMFIR_REJECT, "conninfo", conn, "bad.example", "192.0.2.66")
	mt.disconnect(conn)

	conn = hello("Accept.Example")
	mt.disconnect(conn)
end)
