// Side-effect imports of style sheets: esbuild bundles them into the entry's .css file.
declare module '*.css'
