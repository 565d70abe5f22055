-- Header names and values byte for byte.  HDR_LEADSPC is negotiated, so
-- the value keeps the space after the colon (miltertest adds it) and any
-- spaces after that.  A folded value keeps its "\n\t"; ESC, CR, DEL, a
-- quote and a backslash are escaped; UTF-8 text is shown as it is, but
-- C1 controls and bidirectional controls as \uHHHH and bytes that are not
-- UTF-8 as \xHH.
-- The client quits inside the transaction, which libmilter reports as
-- abort before close.

dofile(lib)

run(function()
	local conn = connect()

	step.conninfo(conn, "client.example", "192.0.2.1")
	step.helo(conn, "client.example")
	step.mailfrom(conn, "<sender@example.org>")
	step.rcptto(conn, "<rcpt@example.net>")
	step.data(conn)
	step.header(conn, "Subject", "  two more spaces")
	step.header(conn, "X-Folded", "first line\n\tsecond line\n third line")
	step.header(conn, "X-Esc", "\27[31mred\27[0m")
	step.header(conn, "X-CR", "carriage\rreturn")
	step.header(conn, "X-Quoted", "say \"hi\" \\ bye\127")
	step.header(conn, "X-UTF8", "caf\u{e9} \u{2603}")
	step.header(conn, "X-Controls", "nel\u{85} rlo\u{202e} lri\u{2066}")
	step.header(conn, "X-Latin1", "caf\xe9 \xff\xfe")
	step.header(conn, "X-Empty", "")
	step.eoh(conn)
	mt.disconnect(conn)
end)
