-- inspect-args: --no-reply auto
-- golden: none
-- check: check-sessions.py --at-least 5 negotiate connect helo envfrom envrcpt abort close
-- An MTA on a unix socket whose client leaves in the middle of a
-- transaction: it writes MAIL and RCPT, then abort and quit, and hangs
-- up at once (Postfix writes everything it awaits no reply to in one go
-- when it hangs up).  libmilter's reader takes a hung-up unix socket for
-- an error and drops the commands still queued, so none may be left
-- unread: with --no-reply auto inspect waits for no command of the
-- envelope.  Every session must show every stage; the race depends on
-- timing, so the case repeats it, 20 times or for 10 seconds.

dofile(lib)

run(function()
	local started = os.time()
	local n = 0
	while n < 20 and os.time() - started < 10 do
		n = n + 1
		local conn = connect()
		negotiate(conn, nil, nil)
		step.conninfo(conn, "client.example", "192.0.2.1")
		step.helo(conn, "client.example")
		step.mailfrom(conn, "<sender@example.org>")
		step.rcptto(conn, "<rcpt@example.net>")
		assert(mt.abort(conn) == nil)
		mt.disconnect(conn)
	end
end)
