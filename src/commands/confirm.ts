// The interactive yes/no of a command that is about to write, like `terraform apply`: only "yes" approves;
// anything else, an empty line, Ctrl-C or Ctrl-D at the prompt cancels.
import { createInterface } from 'node:readline';

export type Confirm = (question: string, signal: AbortSignal) => Promise<boolean>;

/**
 * Asks on `output` (a terminal), reads the answer from `input` (a terminal). Only the question's last line
 * is readline's prompt: readline redraws its prompt line while the answer is typed, and a prompt of
 * several lines would be redrawn wrongly.
 */
export function terminalConfirm(input: NodeJS.ReadableStream, output: NodeJS.WritableStream): Confirm {
  return async (question, signal) => {
    const rl = createInterface({ input, output, terminal: true });
    try {
      return await new Promise<boolean>((resolve) => {
        // With a listener, Ctrl-C at the prompt is an answer, not a signal that kills the process mid-way.
        rl.once('SIGINT', () => {
          output.write('\n');
          resolve(false);
        });
        rl.once('close', () => resolve(false));
        signal.addEventListener('abort', () => resolve(false), { once: true });
        const cut = question.lastIndexOf('\n') + 1;
        output.write(question.slice(0, cut));
        rl.question(question.slice(cut), (answer) => resolve(answer.trim() === 'yes'));
      });
    } finally {
      rl.close();
    }
  };
}
