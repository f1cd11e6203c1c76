// sdk_check.mjs: the official openai package against folio's front door.
// Usage: node sdk_check.mjs BASE_URL  (e.g. http://127.0.0.1:8080/v1)
// Prints one JSON object with what the SDK saw; exits non-zero on failure.
import OpenAI from "openai";

const client = new OpenAI({ baseURL: process.argv[2], apiKey: "unused-by-folio", maxRetries: 0, timeout: 20000 });
const out = {};

const models = await client.models.list();
out.models = models.data.map((m) => m.id);

const completion = await client.chat.completions.create({
  model: "folio",
  messages: [{ role: "user", content: "What is Tollgate?" }],
});
out.text = completion.choices[0].message.content;
out.finish_reason = completion.choices[0].finish_reason;
out.usage = completion.usage;

const stream = await client.chat.completions.create({
  model: "folio",
  stream: true,
  messages: [
    { role: "user", content: "Hello" },
    { role: "assistant", content: "Hi! Ask me about Maya." },
    { role: "user", content: "Which languages does she speak?" },
  ],
});
out.stream_chunks = 0;
out.stream_text = "";
for await (const chunk of stream) {
  out.stream_chunks += 1;
  out.stream_text += chunk.choices[0]?.delta?.content ?? "";
}

try {
  await client.chat.completions.create({ model: "folio", messages: [] });
  out.error_status = 0;
} catch (e) {
  out.error_status = e.status;
  out.error_code = e.code;
  out.error_type = e.type;
}
console.log(JSON.stringify(out));
