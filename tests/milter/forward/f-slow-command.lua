-- The milter behind sleeps 5 s at an unknown command (inspect B's
-- --delay); inspect A gives up after --forward-command-timeout 0.5 s and
-- answers --forward-default (tempfail) there and from then on, well
-- before miltertest's 3 s; the next session goes through.
-- downstream-arg: --delay=unknown=5
-- forward-arg: --forward-command-timeout=0.5
-- check-arg: --default=tempfail
-- check-arg: --failure=1,unknown,2,0\.500 s
-- log: the milter at unix:.*b\.sock: .*0\.500 s.*; answering tempfail

dofile(lib)

run(function()
	mt.set_timeout(3)
	local conn = session()
	step.conninfo(conn, "client.example", "192.0.2.1")
	step.helo(conn, "client.example")
	expect(SMFIR_TEMPFAIL, "unknown", conn, "XYZZY")
	expect(SMFIR_TEMPFAIL, "mailfrom", conn, "<sender@example.org>")
	mt.disconnect(conn)

	conn = session()
	envelope(conn)
	mt.disconnect(conn)
end)
