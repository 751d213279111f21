// Sign-in / register / dev-login screen.
import { h, icon } from '../dom.js';
import { api, describeError, ApiError } from '../api.js';
import { state } from '../store.js';

export function renderLogin(root, { onSignedIn, notice }) {
  let mode = 'signin'; // signin | register

  const errorBox = h('p', { class: 'form-error', testid: 'auth-error', attrs: { role: 'alert', 'aria-live': 'assertive' }, hidden: true });
  const noticeBox = h('p', { class: 'form-notice', testid: 'auth-notice', hidden: !notice, text: notice || '' });

  const username = h('input', {
    id: 'auth-username', type: 'text', name: 'username', autocomplete: 'username', required: true,
    maxLength: 32, spellcheck: false, testid: 'login-username', attrs: { autocapitalize: 'none', placeholder: 'e.g. alice' },
  });
  const password = h('input', {
    id: 'auth-password', type: 'password', name: 'password', autocomplete: 'current-password', required: true,
    minLength: 8, maxLength: 72, testid: 'login-password', attrs: { placeholder: 'At least 8 characters' },
  });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block', testid: 'login-submit', text: 'Sign in' });
  const title = h('h1', { class: 'auth-title', text: 'Welcome back' });
  const subtitle = h('p', { class: 'auth-subtitle', text: 'Sign in to continue your conversations.' });

  const tabSignin = h('button', { type: 'button', class: 'tab', testid: 'signin-tab', text: 'Sign in', attrs: { role: 'tab' } });
  const tabRegister = h('button', { type: 'button', class: 'tab', testid: 'register-tab', text: 'Create account', attrs: { role: 'tab' } });

  function setMode(m) {
    mode = m;
    tabSignin.setAttribute('aria-selected', String(m === 'signin'));
    tabRegister.setAttribute('aria-selected', String(m === 'register'));
    submit.textContent = m === 'signin' ? 'Sign in' : 'Create account';
    title.textContent = m === 'signin' ? 'Welcome back' : 'Create your account';
    subtitle.textContent = m === 'signin' ? 'Sign in to continue your conversations.' : 'Pick a username — letters, digits, “_”, “.” or “-”.';
    password.autocomplete = m === 'signin' ? 'current-password' : 'new-password';
    showError(null);
  }
  tabSignin.addEventListener('click', () => setMode('signin'));
  tabRegister.addEventListener('click', () => setMode('register'));

  function showError(msg) {
    errorBox.hidden = !msg;
    errorBox.textContent = msg || '';
  }

  async function run(btn, fn) {
    showError(null);
    noticeBox.hidden = true;
    btn.disabled = true;
    root.querySelector('.auth-card')?.setAttribute('aria-busy', 'true');
    try {
      const out = await fn();
      onSignedIn(out);
    } catch (err) {
      let msg = describeError(err, 'Sign-in failed');
      if (err instanceof ApiError && err.status === 401) msg = mode === 'signin' && btn === submit ? 'Invalid username or password.' : 'This user has a password — sign in with it above.';
      if (err instanceof ApiError && err.status === 409) msg = 'That username is already taken.';
      showError(msg);
    } finally {
      btn.disabled = false;
      root.querySelector('.auth-card')?.removeAttribute('aria-busy');
    }
  }

  const form = h('form', { class: 'auth-form', testid: 'login-form', noValidate: false },
    h('div', { class: 'tabs', attrs: { role: 'tablist' } }, tabSignin, tabRegister),
    h('label', { class: 'field' }, h('span', { class: 'field-label', text: 'Username' }), username),
    h('label', { class: 'field' }, h('span', { class: 'field-label', text: 'Password' }), password),
    submit,
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const u = username.value.trim();
    const p = password.value;
    if (!u) { showError('Enter your username.'); username.focus(); return; }
    if (p.length < 8) { showError('Passwords have at least 8 characters.'); password.focus(); return; }
    run(submit, () => (mode === 'signin' ? api.login(u, p) : api.register(u, p)));
  });

  let devSection = null;
  if (state.config.devLogin) {
    const devName = h('input', {
      id: 'dev-username', type: 'text', autocomplete: 'off', required: true, maxLength: 32, spellcheck: false,
      testid: 'dev-username', attrs: { autocapitalize: 'none', placeholder: 'Any username', 'aria-label': 'Username for developer sign-in' },
    });
    const devSubmit = h('button', { type: 'submit', class: 'btn btn-secondary', testid: 'dev-login-submit', text: 'Continue' });
    const devForm = h('form', { class: 'dev-form', testid: 'dev-login-form' }, devName, devSubmit);
    devForm.addEventListener('submit', (e) => {
      e.preventDefault();
      const u = devName.value.trim();
      if (!u) { showError('Enter a username.'); devName.focus(); return; }
      run(devSubmit, () => api.login(u));
    });
    devSection = h('section', { class: 'dev-login', attrs: { 'aria-label': 'Developer sign-in' } },
      h('div', { class: 'divider' }, h('span', { text: 'or, on this development server' })),
      h('p', { class: 'dev-hint', text: 'Sign in with just a username — no password needed.' }),
      devForm,
    );
  }

  const card = h('div', { class: 'auth-card' },
    h('div', { class: 'brand' }, h('span', { class: 'brand-mark' }, icon('chat', 26)), h('span', { class: 'brand-name', text: 'Messenger' })),
    title, subtitle, noticeBox, errorBox, form, devSection,
  );
  const screen = h('main', { class: 'auth-screen', testid: 'auth-screen' },
    h('div', { class: 'auth-art', attrs: { 'aria-hidden': 'true' } },
      h('div', { class: 'bubble b1' }), h('div', { class: 'bubble b2' }), h('div', { class: 'bubble b3' })),
    card,
  );
  setMode('signin');
  root.replaceChildren(screen);
  username.focus();
}
