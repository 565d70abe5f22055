-- Body chunks with CRLF line ends: each chunk is shown with its length
-- and then one "chunk:" line per line of data, the CR LF escaped; an empty
-- line is a line too; a line longer than 1024 bytes goes on in a second
-- "chunk:" line; and each chunk the MTA sends is a body event of its own.

dofile(lib)

run(function()
	local conn = connect()

	step.conninfo(conn, "client.example", "192.0.2.1")
	step.helo(conn, "client.example")
	step.mailfrom(conn, "<sender@example.org>")
	step.rcptto(conn, "<rcpt@example.net>")
	step.data(conn)
	step.header(conn, "Subject", "lines")
	step.eoh(conn)
	step.bodystring(conn,
	    "First line.\r\nSecond line.\r\n\r\nAfter a blank line.\r\n")
	-- 1100 digits and CRLF: 1024 bytes, then the other 78.
	step.bodystring(conn, string.rep("0123456789", 110) .. "\r\n")
	step.bodystring(conn, "No line end at the end")
	step.eom(conn)
	mt.disconnect(conn)
end)
