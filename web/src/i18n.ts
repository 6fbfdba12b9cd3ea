// react-i18next: English first; German is wired to the language switch (its strings are seeds to
// be translated; a missing key falls back to English). French and Russian follow the same shape.
import i18n from 'i18next';
import { initReactI18next } from 'react-i18next';
import de from './locales/de.json';
import en from './locales/en.json';

export const LANGUAGES = [
  { code: 'en', label: 'English' },
  { code: 'de', label: 'Deutsch' },
] as const;

const saved = sessionStorage.getItem('turnkey.lang');
const browser = navigator.language.slice(0, 2);
const initial = saved ?? (LANGUAGES.some((l) => l.code === browser) ? browser : 'en');

void i18n.use(initReactI18next).init({
  resources: { en: { translation: en }, de: { translation: de } },
  lng: initial,
  fallbackLng: 'en',
  interpolation: { escapeValue: false },
});
i18n.on('languageChanged', (lng) => {
  sessionStorage.setItem('turnkey.lang', lng);
  document.documentElement.lang = lng;
});
document.documentElement.lang = initial;

export default i18n;
