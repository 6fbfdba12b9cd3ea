// react-i18next: English is in the main bundle; German, French and Russian are complete
// (tests/unit/test_web_locales.py fails on a missing key) and each is its own chunk, loaded when
// chosen, so nobody downloads the languages they do not use.
import i18n from 'i18next';
import { initReactI18next } from 'react-i18next';
import en from './locales/en.json';

export const LANGUAGES = [
  { code: 'en', label: 'English' },
  { code: 'de', label: 'Deutsch' },
  { code: 'fr', label: 'Français' },
  { code: 'ru', label: 'Русский' },
] as const;

type Code = (typeof LANGUAGES)[number]['code'];
const LOADERS: Record<Exclude<Code, 'en'>, () => Promise<{ default: object }>> = {
  de: () => import('./locales/de.json'),
  fr: () => import('./locales/fr.json'),
  ru: () => import('./locales/ru.json'),
};

const known = (code: string | null | undefined): code is Code => LANGUAGES.some((l) => l.code === code);

/** Switch the language, loading its strings first. */
export async function setLanguage(code: string): Promise<void> {
  if (!known(code)) return;
  if (code !== 'en' && !i18n.hasResourceBundle(code, 'translation')) {
    i18n.addResourceBundle(code, 'translation', (await LOADERS[code]()).default);
  }
  await i18n.changeLanguage(code);
}

const saved = sessionStorage.getItem('turnkey.lang');
const browser = navigator.language.slice(0, 2);
const initial: Code = known(saved) ? saved : known(browser) ? browser : 'en';

void i18n.use(initReactI18next).init({
  resources: { en: { translation: en } },
  lng: 'en',
  fallbackLng: 'en',
  interpolation: { escapeValue: false },
});
i18n.on('languageChanged', (lng) => {
  sessionStorage.setItem('turnkey.lang', lng);
  document.documentElement.lang = lng;
});
document.documentElement.lang = 'en';
if (initial !== 'en') void setLanguage(initial);

export default i18n;
