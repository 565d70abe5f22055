-- --macros {a},b: only the macros named are shown, each with the stage
-- that sent it (b with connect, {a} with helo), while j, {x} and
-- {rcpt_*}, sent alongside, are not.  A recipient is still found
-- rejected by its {rcpt_mailer}, with the status and reply of its
-- {rcpt_host} and {rcpt_addr}, shown or not.
-- The client quits inside the transaction, which libmilter reports as
-- abort before close.
-- inspect-args: --macros {a},b

dofile(lib)

run(function()
	local conn = connect()
	mt.macro(conn, SMFIC_CONNECT, "j", "mx.example", "b", "bravo",
	    "{x}", "x-ray")
	step.conninfo(conn, "client.example", "192.0.2.1")
	mt.macro(conn, SMFIC_HELO, "{a}", "alpha")
	step.helo(conn, "client.example")
	step.mailfrom(conn, "<sender@example.org>")
	mt.macro(conn, SMFIC_RCPT, "{rcpt_mailer}", "error", "{rcpt_host}",
	    "5.7.1", "{rcpt_addr}", "Recipient address rejected: Access denied")
	step.rcptto(conn, "<nobody@example.net>")
	mt.disconnect(conn)
end)
