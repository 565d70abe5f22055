-- The milter behind (inspect B, probing) answers; the MTA gets its
-- answers through inspect A: a recipient holding "bad@" rejected with
-- B's text, a sender holding "tempfail@" tempfailed, the body skipped
-- (the MTA still sends it, and B gets no more of it), a
-- header X-Drop discarding the message, an unknown command tempfailed
-- with two lines, a client at 192.0.2.66 rejected at connect.  B's
-- accepts reach the MTA as continue: at helo B gets nothing more of the
-- connection, at envfrom nothing more of the message, and the next
-- message again (check-forward.py checks what B was sent).
-- downstream-arg: --reply=envrcpt/bad@=550 5.7.1 probe rejects bad
-- downstream-arg: --reply=envfrom/tempfail@=tempfail
-- downstream-arg: --reply=envfrom/accept@=accept
-- downstream-arg: --reply=body=skip
-- downstream-arg: --reply=header/x-drop=discard
-- downstream-arg: --reply=connect/192.0.2.66=reject
-- downstream-arg: --reply=helo/accept.example=accept
-- downstream-arg: --reply=unknown=451 4.3.0 first line\nsecond line

dofile(lib)

local function hello(helo)
	local conn = session()
	expect(SMFIR_CONTINUE, "conninfo", conn, "client.example",
	    "192.0.2.1")
	expect(SMFIR_CONTINUE, "helo", conn, helo or "client.example")
	return conn
end

run(function()
	local conn = hello()
	-- B's skip reaches the MTA as continue, so SKIP is not asked for.
	assert(not mt.test_option(conn, SMFIP_SKIP))
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
	expect(SMFIR_CONTINUE, "bodystring", conn, "skipped\r\n")
	expect(SMFIR_CONTINUE, "bodystring", conn, "not for B\r\n")
	expect(SMFIR_CONTINUE, "eom", conn)
	expect(SMFIR_REPLYCODE, "unknown", conn, "XYZZY")
	mt.disconnect(conn)

	conn = session()
	expect(SMFIR_REJECT, "conninfo", conn, "bad.example", "192.0.2.66")
	mt.disconnect(conn)

	-- Accepted at helo: the rest of the connection is not B's.
	conn = hello("Accept.Example")
	expect(SMFIR_CONTINUE, "mailfrom", conn, "<bad@example.org>")
	expect(SMFIR_CONTINUE, "rcptto", conn, "<bad@example.net>")
	expect(SMFIR_CONTINUE, "eom", conn)
	mt.disconnect(conn)

	-- Accepted at envfrom: the rest of the message is not B's, the next
	-- message is.
	conn = hello()
	expect(SMFIR_CONTINUE, "mailfrom", conn, "<accept@example.org>")
	expect(SMFIR_CONTINUE, "rcptto", conn, "<bad@example.net>")
	expect(SMFIR_CONTINUE, "header", conn, "X-Drop", "yes")
	expect(SMFIR_CONTINUE, "eom", conn)
	expect(SMFIR_CONTINUE, "mailfrom", conn, "<sender@example.org>")
	expect(SMFIR_REPLYCODE, "rcptto", conn, "<bad@example.net>")
	mt.disconnect(conn)
end)
