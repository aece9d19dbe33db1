// console.js is browser code that the server only serves: imported with `type: "file"`, it is the file's path.
declare const path: string;
export default path;
