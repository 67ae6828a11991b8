import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

// The baseline: a bare smtp-server that parses each mail with mailparser and stores nothing.
const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['AUTH', 'STARTTLS'],
  disableReverseLookup: true,
  logger: false,
  onData(stream, _session, callback) {
    simpleParser(stream).then(
      () => callback(null, 'OK'),
      (err) => callback(err),
    );
  },
});
server.listen(Number(process.env.SMTP_PORT), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
