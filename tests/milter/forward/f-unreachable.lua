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
	local conn = session()
	expect(SMFIR_TEMPFAIL, "conninfo", conn, "client.example",
	    "192.0.2.1")
	mt.disconnect(conn)

	ask("start")
	conn = session()
	envelope(conn)
	message(conn, { { "Subject", "after" } })
	mt.disconnect(conn)
end)
