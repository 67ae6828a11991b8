import http from 'node:http';
import postgres from 'postgres';
import { WebSocketServer, type WebSocket } from 'ws';

// The hand-written floor for live chat: a bare `ws` server. Idle, it only holds sockets. As a
// relay, a socket joins sessions; a message sent to a session is INSERTed into PostgreSQL and,
// once committed, broadcast to every socket of the session. POST /start INSERTs a session row.
const sql = postgres(process.env.DATABASE_URL!, { max: 10, onnotice: () => {} });
const rooms = new Map<number, Set<WebSocket>>();

const server = http.createServer((req, res) => {
  if (req.url === '/healthz') return void res.end('ok');
  if (req.url === '/start' && req.method === 'POST') return void startSession(req, res);
  res.writeHead(404).end();
});
/** The floor of startLiveChat: one INSERT of a session row, its id answered. */
function startSession(req: http.IncomingMessage, res: http.ServerResponse) {
  const chunks: Buffer[] = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', async () => {
    const { channelId } = JSON.parse(Buffer.concat(chunks).toString()) as { channelId: number };
    const [row] = await sql`insert into live_chat_sessions (channel_id, status, visitor_name, session_key_hash) values (${channelId}, 'WAITING', 'Visitor', md5(random()::text)) returning id`;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ id: row!.id }));
  });
}

const wss = new WebSocketServer({ server });
wss.on('connection', (socket) => {
  const joined: number[] = [];
  socket.on('message', async (data) => {
    const message = JSON.parse(data.toString()) as { type: 'join'; session: number } | { type: 'send'; session: number; author: string; body: string };
    if (message.type === 'join') {
      joined.push(message.session);
      if (!rooms.has(message.session)) rooms.set(message.session, new Set());
      rooms.get(message.session)!.add(socket);
      return;
    }
    const [row] = await sql`insert into relay_messages (session_id, author, body) values (${message.session}, ${message.author}, ${message.body}) returning id, created_at`;
    const out = JSON.stringify({ id: row!.id, session: message.session, author: message.author, body: message.body, createdAt: row!.created_at });
    for (const member of rooms.get(message.session) ?? []) member.send(out);
  });
  socket.once('close', () => {
    for (const session of joined) rooms.get(session)?.delete(socket);
  });
});
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => {
  server.close();
  for (const client of wss.clients) client.terminate();
  void sql.end({ timeout: 1 }).then(() => process.exit(0));
});
