-- No milter behind at first: inspect A answers --forward-default
-- (tempfail) from connect on, reports why at every stage and logs it.
-- Then the milter starts, and the next session goes through it.
-- downstream: later
-- check-arg: --default=tempfail
-- check-arg: --failure=1,negotiate,,cannot connect to unix:.*b\.sock
-- log: the milter at unix:.*b\.sock: cannot connect to unix:.*b\.sock: No such file or directory; answering tempfail

dofile(lib)

run(function()
	mt.set_timeout(3)
	local conn = connect()
	negotiate(conn, nil, nil)
	expect(SMFIR_TEMPFAIL, "conninfo", conn, "client.example",
	    "192.0.2.1")
	mt.disconnect(conn)

	ask("start")
	conn = connect()
	negotiate(conn, nil, nil)
	step.conninfo(conn, "client.example", "192.0.2.1")
	step.helo(conn, "client.example")
	step.mailfrom(conn, "<sender@example.org>")
	step.rcptto(conn, "<rcpt@example.net>")
	step.data(conn)
	step.header(conn, "Subject", "after")
	step.eoh(conn)
	step.bodystring(conn, "body\r\n")
	step.eom(conn)
	mt.disconnect(conn)
end)
