-- inspect-args: --no-reply auto
-- On a unix socket inspect tells the MTA by default that the content
-- stages (header, eoh, body) get no reply (SMFIP_NR_*), which saves the
-- MTA a round trip each, and keeps a reply at the envelope's, whose
-- commands libmilter could otherwise drop unread when the MTA hangs up
-- (t-vanish-unix): the answered steps show the NR bits, no reply comes
-- to those stages (lib.lua checks that), and every stage is reported,
-- since the message ends with eom, which does get its reply.

dofile(lib)

run(function()
	local conn = connect()

	mt.macro(conn, SMFIC_CONNECT, "j", "mx.example")
	step.conninfo(conn, "client.example", "192.0.2.1")
	step.helo(conn, "client.example")
	step.mailfrom(conn, "<sender@example.org>", "SIZE=42")
	step.rcptto(conn, "<rcpt@example.net>")
	step.data(conn)
	step.header(conn, "Subject", "no replies")
	step.eoh(conn)
	step.bodystring(conn, "hello\r\n")
	step.eom(conn)
	mt.disconnect(conn)
end)
