export async function runReport(_command: unknown, _env: NodeJS.ProcessEnv): Promise<number> { throw new Error("report: not wired yet"); }
