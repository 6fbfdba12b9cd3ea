export const healthTone = (level: string) => (level === 'CRITICAL' ? 'bad' : level === 'ATTENTION' ? 'warn' : 'ok');
