-- inspect-args: --stages envrcpt --summary --macros {rcpt_addr}
-- summaries: 2
-- Watching only the recipients: --stages envrcpt shows the envrcpt
-- events alone, and the summary line at close still counts what was not
-- shown (the helo name, the headers, the body).  Negotiate and close
-- still take place: the second connection is a session of its own.

dofile(lib)

run(function()
	for i = 1, 2 do
		local conn = connect()

		step.conninfo(conn, "client.example", "192.0.2.1")
		step.helo(conn, "client.example")
		step.mailfrom(conn, "<sender@example.org>")
		mt.macro(conn, SMFIC_RCPT, "{rcpt_addr}", "rcpt" .. i)
		step.rcptto(conn, "<rcpt" .. i .. "@example.net>")
		mt.macro(conn, SMFIC_RCPT, "{rcpt_mailer}", "error",
		    "{rcpt_host}", "5.1.1", "{rcpt_addr}", "User unknown")
		step.rcptto(conn, "<nobody@example.net>")
		step.data(conn)
		step.header(conn, "Subject", "only the recipients")
		step.eoh(conn)
		step.bodystring(conn, "Body\r\n")
		step.eom(conn)
		mt.disconnect(conn)
	end
end)
