/**
 * middleware_mixin: Django's MiddlewareMixin hooks. chain_middleware runs
 * neighbouring mixin layers as one; what a request sees must be what a chain
 * of separate layers, each wrapped by convert_exception_to_response, gives.
 */
import fc from 'fast-check';
import { configure } from '../conf';
import { HttpRequest } from '../http/request';
import { HttpResponse } from '../http/response';
import {
  chain_middleware, convert_exception_to_response, middleware_mixin,
  type GetResponse, type MiddlewareFactory, type MiddlewareHooks,
} from '../middleware';

/** What one hook does: go on, answer, throw, or the same after a turn of the event loop. */
type Act = 'next' | 'answer' | 'throw' | 'async_next' | 'async_answer' | 'reject';
interface LayerPlan {
  request: Act | 'none';
  response: 'pass' | 'replace' | 'throw' | 'async_pass' | 'reject' | 'none';
}

function layer(name: string, plan: LayerPlan, log: string[]): MiddlewareFactory {
  return middleware_mixin(() => {
    const hooks: MiddlewareHooks = {};
    if (plan.request !== 'none') {
      const act = plan.request;
      hooks.process_request = (request) => {
        log.push(`${name}.request`);
        const early = act.endsWith('answer') ? new HttpResponse(`${name} answered`, { status: 299 }) : null;
        if (act === 'throw') throw new Error(`${name} request failed`);
        if (act === 'reject') return Promise.reject(new Error(`${name} request failed`));
        if (act.startsWith('async')) return new Promise((resolve) => setImmediate(() => resolve(early)));
        void request;
        return early;
      };
    }
    if (plan.response !== 'none') {
      const act = plan.response;
      hooks.process_response = (_request, response) => {
        log.push(`${name}.response(${response.status_code})`);
        if (act === 'throw') throw new Error(`${name} response failed`);
        if (act === 'reject') return Promise.reject(new Error(`${name} response failed`));
        if (act === 'replace') return new HttpResponse(`${name} replaced`, { status: 298 });
        if (act === 'async_pass') return new Promise((resolve) => setImmediate(() => resolve(response)));
        return response;
      };
    }
    return hooks;
  });
}

function view(log: string[]): GetResponse {
  return async () => {
    log.push('view');
    return new HttpResponse('view', { status: 200 });
  };
}

/** Django's shape: every layer wrapped on its own (the mixin called directly lets its exceptions out). */
function separate_layers(inner: GetResponse, factories: MiddlewareFactory[]): GetResponse {
  let handler = inner;
  for (let i = factories.length - 1; i >= 0; i--) handler = convert_exception_to_response(factories[i](handler));
  return handler;
}

const plan_arb = fc.record<LayerPlan>({
  request: fc.constantFrom('none', 'next', 'answer', 'throw', 'async_next', 'async_answer', 'reject'),
  response: fc.constantFrom('none', 'pass', 'replace', 'throw', 'async_pass', 'reject'),
});

describe('middleware_mixin', () => {
  beforeAll(() => configure({ SECRET_KEY: 'mixin-test', DEBUG: false }));

  it('runs process_request in order and process_response back outwards, as separate layers do', async () => {
    const log: string[] = [];
    const plans: LayerPlan[] = [{ request: 'next', response: 'pass' }, { request: 'async_next', response: 'async_pass' }, { request: 'next', response: 'pass' }];
    const handler = chain_middleware(view(log), plans.map((p, i) => layer(`m${i}`, p, log)));
    const response = await handler(new HttpRequest());
    expect(response.status_code).toBe(200);
    expect(log).toEqual(['m0.request', 'm1.request', 'm2.request', 'view', 'm2.response(200)', 'm1.response(200)', 'm0.response(200)']);
  });

  it('an early answer skips the inner layers and the view; its own process_response still runs', async () => {
    const log: string[] = [];
    const plans: LayerPlan[] = [{ request: 'next', response: 'pass' }, { request: 'answer', response: 'pass' }, { request: 'next', response: 'pass' }];
    const response = await chain_middleware(view(log), plans.map((p, i) => layer(`m${i}`, p, log)))(new HttpRequest());
    expect(response.status_code).toBe(299);
    expect(log).toEqual(['m0.request', 'm1.request', 'm1.response(299)', 'm0.response(299)']);
  });

  it('a failed process_request becomes a 500 that only the outer layers see', async () => {
    const log: string[] = [];
    const plans: LayerPlan[] = [{ request: 'next', response: 'pass' }, { request: 'throw', response: 'pass' }];
    const response = await chain_middleware(view(log), plans.map((p, i) => layer(`m${i}`, p, log)))(new HttpRequest());
    expect(response.status_code).toBe(500);
    expect(log).toEqual(['m0.request', 'm1.request', 'm0.response(500)']);
  });

  it('a failed process_response becomes a 500 that the outer layers see', async () => {
    const log: string[] = [];
    const plans: LayerPlan[] = [{ request: 'none', response: 'pass' }, { request: 'none', response: 'reject' }];
    const response = await chain_middleware(view(log), plans.map((p, i) => layer(`m${i}`, p, log)))(new HttpRequest());
    expect(response.status_code).toBe(500);
    expect(log).toEqual(['view', 'm1.response(200)', 'm0.response(500)']);
  });

  it('called on its own (not chained), a layer lets its exceptions reach the caller, as in Django', async () => {
    const log: string[] = [];
    const handler = layer('m', { request: 'throw', response: 'pass' }, log)(view(log));
    await expect(handler(new HttpRequest())).rejects.toThrow('m request failed');
    const late = layer('m', { request: 'next', response: 'throw' }, log)(view(log));
    await expect(late(new HttpRequest())).rejects.toThrow('m response failed');
  });

  it('runs setup once per chain, when the chain is built', () => {
    let setups = 0;
    const m = middleware_mixin(() => {
      setups++;
      return {};
    });
    chain_middleware(view([]), [m, m]);
    expect(setups).toBe(2);
  });

  it('for any mix of hooks, plain layers and outcomes, gives what separate layers give', async () => {
    const plain = (log: string[]): MiddlewareFactory => (get_response) => async (request) => {
      log.push('plain.before');
      const response = await get_response(request);
      log.push(`plain.after(${response.status_code})`);
      return response;
    };
    await fc.assert(
      fc.asyncProperty(fc.array(fc.option(plan_arb, { nil: undefined, freq: 4 }), { minLength: 1, maxLength: 6 }), async (plans) => {
        const run = async (build: (inner: GetResponse, f: MiddlewareFactory[]) => GetResponse) => {
          const log: string[] = [];
          const factories = plans.map((p, i) => (p === undefined ? plain(log) : layer(`m${i}`, p, log)));
          const response = await build(view(log), factories)(new HttpRequest());
          return { status: response.status_code, content: response.content.toString(), log };
        };
        expect(await run(chain_middleware)).toEqual(await run(separate_layers));
      }),
      { numRuns: 300 },
    );
  });
});
