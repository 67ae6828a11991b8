import http from 'node:http';
import postgres from 'postgres';

// The hand-written baseline: node:http + one SQL statement, answering the same JSON as Intake.
const sql = postgres(process.env.DATABASE_URL!, { max: 10, onnotice: () => {} });
const PRIORITIES = ['LOW', 'MEDIUM', 'HIGH', 'URGENT'];

const server = http.createServer(async (req, res) => {
  if (req.url === '/healthz') return void res.end('ok');
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const { variables } = JSON.parse(Buffer.concat(chunks).toString());
  const teamId = Number(Buffer.from(variables.teamId, 'base64').toString().split(':')[1]);
  const rows = await sql`
    with top as (
      select * from tickets where team_id = ${teamId}
      order by priority desc, created_at desc, id desc limit 50
    )
    select t.id, t.number, t.title, t.priority, t.created_at, s.name as stage_name, c.name as customer_name, c.email as customer_email
    from top t join stages s on s.id = t.stage_id left join customers c on c.id = t.customer_id
    order by t.priority desc, t.created_at desc, t.id desc`;
  const nodes = rows.map((r) => ({
    id: Buffer.from(`Ticket:${r.id}`).toString('base64'),
    number: r.number,
    title: r.title,
    priority: PRIORITIES[r.priority],
    createdAt: new Date(r.created_at).toISOString(),
    stage: { name: r.stage_name },
    customer: r.customer_email ? { name: r.customer_name, email: r.customer_email } : null,
  }));
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: { tickets: { nodes } } }));
});
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => {
  server.close();
  void sql.end({ timeout: 1 }).then(() => process.exit(0));
});
