// A script that makes a session, uses it and never calls close(): it must still exit.
import OpenAI from 'openai';
import { CodeInterpreterSession } from '../../src/index.js';
import { createSimulator } from '../../src/testing/index.js';

const sim = createSimulator();
const server = await sim.listen();
const session = new CodeInterpreterSession({ client: new OpenAI({ apiKey: 'sk-test', baseURL: server.url }), model: 'gpt-5' });
const info = await session.start();
console.log(`container ${info.id}`);
await server.close();
