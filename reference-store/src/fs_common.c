/* (in progress) */
