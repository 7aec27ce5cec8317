// The bench's reference point: a Worker answering constant JSON, started and measured exactly like Lectern
// (same wrangler dev, same workerd, same autocannon settings). Every Lectern scenario is reported as a ratio to it.
const BODY = JSON.stringify({ message: "pong!" });

export default {
  fetch() {
    return new Response(BODY, { headers: { "content-type": "application/json; charset=utf-8" } });
  },
};
