-- ESMTP parameters of MAIL and RCPT: each one is shown byte for byte as a
-- parameter line after the address, in the order sent (SIZE=, BODY=,
-- AUTH=<>, NOTIFY=, ORCPT= with xtext, a made-up one that needs escaping),
-- and the null sender is an address like any other.
-- The client quits inside the transaction, which libmilter reports as
-- abort before close.

dofile(lib)

run(function()
	local conn = connect()

	step.conninfo(conn, "client.example", "192.0.2.1")
	step.helo(conn, "client.example")
	step.mailfrom(conn, "<>", "SIZE=10240", "BODY=8BITMIME", "AUTH=<>")
	step.rcptto(conn, "<user+tag@example.net>", "NOTIFY=SUCCESS,FAILURE",
	    "ORCPT=rfc822;user+2Btag@example.net")
	step.rcptto(conn, "<\"odd user\"@example.net>", "NOTIFY=NEVER",
	    "X-TEST=back\\slash\ttab")
	mt.disconnect(conn)
end)
